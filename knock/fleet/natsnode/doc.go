// Package natsnode is the fleet's embedded NATS server with JetStream:
// the program knockbeep-nats, which knockbeepd starts as a child process
// when its [cluster] table says serve, and stops with itself.
//
// The server runs in a process of its own, not in the daemon, for three
// reasons. The NATS server package starts, from its init function, a
// timer that reads /proc every second for as long as the program runs:
// linked into knockbeepd it cost the idle daemon about 4 CPU-seconds an
// hour, with or without a fleet, where the daemon alone costs about 0.2.
// The server takes connections from the network, and the daemon runs as root
// with raw sockets: a fault in the server now ends the server, which the
// daemon restarts, not the daemon's knock capture. And a host without a
// fleet carries none of the server's code in its daemon.
//
// The protocol between the two is small: the daemon passes the options
// as flags; the program prints "starting" at once, takes its store's
// lock, and prints "ready CLIENT-URL [ROUTE-URL]" once it takes
// connections (reading a big store takes long: the daemon waits while the
// program runs); its warnings and errors go to its standard error, which
// the daemon logs; and it shuts down when its standard input ends (the
// daemon closed it, or died) or on SIGTERM.
package natsnode
