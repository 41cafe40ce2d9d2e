package nodeauth

// As returns a signer of the same boot and key that signs as node: the
// agent of a machine discovery named goes on under its new name (bootsrv
// gave the name the discovery boot's key). Sequence numbers continue.
func (s *Signer) As(node string) *Signer {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	c.Node = node
	return &Signer{key: s.key, c: c}
}
