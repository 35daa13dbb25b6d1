// Package reply is the answer a rotating door with reply = true sends to a
// completed knock: one UDP datagram, authenticated with the door's key,
// that says whether the door opened and until when. docs/port-language.md
// ("Replies") writes the format down.
//
// The knocker asks for it by making its last knock a UDP datagram; the
// daemon sends the reply from the knocked address and port to the
// datagram's source address and port, so that it passes the NAT the knock
// passed. Parse refuses anything but an authentic reply for the knock's
// period: a forged, altered or old answer never reads as an opening.
package reply
