package main

// commands lists every subcommand, in usage order.
var commands []*command

func init() {
	commands = []*command{
		nodeList, nodeShow, nodeAdd, nodeSet, nodeDelete, nodeInventory,
		modeSet, statusCmd, eventsCmd, hostkeysCmd, sshCmd, powerCmd, consoleCmd,
		luksPush, secretPush, secretSet, secretShow,
		imagePack, imageLite, imageEncrypt, imageList, imageShow, imageDelete, imageSwarm,
		imageBuild, imageProfileShow, imageDiff, postscriptsCmd,
		initrdBuild, initrdPrebuild, inventoryCheck,
		adminTokenCreate, adminTokenList, adminTokenRevoke, adminWhoami, auditCmd,
		discoverList, discoverAssign, completionCmd,
	}
}
