// Package sendtest gives privileged tests a place to knock and a way to see
// what the knocks put on the wire: a private network namespace (Netns) that
// is deleted when the test ends, and a tap on one of its interfaces (Tap, an
// AF_PACKET socket) that decodes every IPv4/IPv6 TCP and UDP packet it sees.
//
// Knocking inside a private namespace keeps tests away from the host's
// loopback, where a knock daemon run by someone else could be listening, and
// keeps other traffic out of the capture, so a test can assert exactly which
// packets were sent.
//
// Sockets belong to the namespace of the thread that opens them, so a test
// opens its Tap and sends its knocks inside Netns.Do, which runs a function
// on an OS thread that has entered the namespace. The Tap keeps reading from
// any goroutine after that.
//
// Linux only: elsewhere the package is empty, and the tests that use it are
// in _linux_test.go files.
package sendtest
