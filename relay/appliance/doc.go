// Package appliance is what bob does when it boots as PID 1 of the relay
// appliance VM image: it brings the machine up (pseudo file systems, entropy,
// the virtio network driver, an address on eth0) and tells the caller which
// relay flags the kernel command line asked for.
//
// The image holds a Linux kernel and an initramfs whose only program is bob,
// as /init. There is no shell and no other process: everything an init
// system would do for a relay happens here, in one short sequence.
//
// Settings come from the kernel command line:
//
//	bob.ip=dhcp                 configure the interface by DHCP (the default)
//	bob.ip=10.0.2.15/24         or a static address and prefix length
//	bob.gw=10.0.2.2             default gateway for a static address
//	bob.iface=eth0              the interface to configure (default eth0)
//	bob.relay=--listen=:9009,--metrics=:9100
//	                            relay flags, separated by commas
//	bob.arg=--password=a,b      one relay argument, taken verbatim (repeatable)
//
// The parsing, the module metadata and the DHCP messages are plain Go that
// builds everywhere; bringing the machine up is Linux only.
package appliance
