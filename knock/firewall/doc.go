// Package firewall lets a knocker in by adding its address to a firewall
// set, with the time it stays there kept by the kernel: knockbeepd's
// native door actions, beside (or instead of) start and stop commands.
//
// # Why sets, not commands
//
// A command forks a process for every opening (about 5 ms each), quotes
// its arguments through a template, and needs a stop command that a
// crashed daemon never runs. A set element with a timeout costs one
// netlink message, takes the address as bytes, and expires in the kernel
// whatever happens to the daemon afterwards.
//
// # Specs
//
// A door's open list names sets, parsed by ParseSpec:
//
//	nft:FAMILY/TABLE/SET   an nftables set (ipv4_addr or ipv6_addr, flags timeout), over netlink
//	ipset:NAME             an ipset (hash:ip, ... with the timeout option), over netlink
//	pf:TABLE               a FreeBSD pf table, through pfctl; expiry by Expire
//
// A door may list a set for each address family; Add reports, for each,
// whether it holds the knocker's family, so the daemon adds the address to
// the sets that fit and says so when none does.
//
// # Flow
//
//	ParseSpec (config, no I/O) ─► Open (per OS, a netlink socket) ─► Check (--check: exists, type, timeout)
//	an opening ─► Set.Add(addr, open_for): adds, or restarts the time of an address already there
//
// Open's back ends are registered in one table per OS (backends in
// firewall_linux.go, firewall_freebsd.go); a new kind of set is one file
// with its Set and one line there, plus its prefix in ParseSpec.
package firewall
