// Package getopt reads a command line the way GNU getopt_long does, for
// the knock client and knockbeepd, whose knockd counterparts parse with
// it: users' scripts and habits carry over.
//
// A program lists its Options; Parse walks the arguments and calls back
// with each option found, in the order given, and returns the operands.
// The program keeps its own table of what each option does and its own
// error messages for values it does not accept; Parse's own errors (an
// unknown option, a missing or unexpected value) read alike in every
// program: "unknown option -x", "option --delay needs a value T".
//
// What GNU getopt_long does and Parse does too: short options cluster
// ("-uv"), a short option's value is attached ("-d100") or the next
// argument ("-d 100"); a long option's value follows "=" or is the next
// argument; options and operands mix in any order; "--" ends the options
// and "-" alone is an operand. An option with an optional value takes it
// only attached ("--demo=SONG", "-xVALUE"), never from the next argument.
// What it does not: abbreviated long options ("--verb" for "--verbose")
// and POSIXLY_CORRECT, which neither program's users rely on.
package getopt
