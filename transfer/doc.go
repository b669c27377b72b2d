// Package transfer moves what the user asked to send over a secure channel:
// the offer, the receiver's answer, compressed and verified file data, resume,
// text and streams. It treats the peer as hostile: every write on the
// receiver goes through an os.Root opened on the output folder.
package transfer
