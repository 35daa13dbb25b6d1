# fish completion for knockbeepd(8), from knockbeep. internal/packagetest
# checks the -s and -l names against knockbeepd's option table.
set -l songs fur-elise imperial-march minuet-in-g ode-to-joy three-voice-round twinkle-twinkle
complete -c knockbeepd -f
complete -c knockbeepd -s c -l config -r -F -d 'config file (TOML or knockd.conf)'
complete -c knockbeepd -s i -l interface -x -a 'any (path basename /sys/class/net/*)' -d 'capture on an interface'
complete -c knockbeepd -l speaker -x -a 'auto evdev console speaker wav: none' -d 'where music is played'
complete -c knockbeepd -l state-dir -x -a '(__fish_complete_directories)' -d 'where pools and played songs live'
complete -c knockbeepd -l check -d 'validate the config, print it and exit'
complete -c knockbeepd -l strict -d 'with --check: fail on warnings'
complete -c knockbeepd -l convert -r -F -d 'print the TOML equivalent of a knockd.conf'
complete -c knockbeepd -l genkey -r -F -d 'write a new random key for a rotating door'
complete -c knockbeepd -l ed25519 -d 'with --genkey: a fleet node key; prints its trust line'
complete -c knockbeepd -l audit-verify -d "with -c: verify the fleet's audit chain"
complete -c knockbeepd -l user-add -x -d "with -c: add a user's key to the fleet"
complete -c knockbeepd -l user-revoke -x -d "with -c: revoke a user's key in the fleet"
complete -c knockbeepd -l show-sequence -x -d "print a rotating door's current sequence"
complete -c knockbeepd -l for -x -d "the knocker whose sequence --show-sequence shows"
complete -c knockbeepd -l replay -r -F -d 'run a pcap file through the daemon'
complete -c knockbeepd -l demo -d 'knock a song into a daemon on loopback and play it'
complete -c knockbeepd -l notes -d 'with --demo: one knock per note'
# --demo's song is an operand ("--demo SONG") as well as a value.
complete -c knockbeepd -n '__fish_seen_argument -l demo' -a "$songs" -d 'built-in song'
complete -c knockbeepd -s D -l debug -d 'log debug lines to stderr'
complete -c knockbeepd -s v -l verbose -d 'log to stderr too'
complete -c knockbeepd -s p -l pidfile -r -F -d 'write the process id to a file'
complete -c knockbeepd -s g -l logfile -r -F -d 'log to a file too'
complete -c knockbeepd -s 4 -l only-ip-v4 -d 'ignore IPv6 knocks'
complete -c knockbeepd -s l -l lookup -d 'accepted and ignored'
complete -c knockbeepd -s d -l daemon -d 'refused: run under systemd or rc.d'
complete -c knockbeepd -s V -l version -d 'print the version and exit'
complete -c knockbeepd -s h -l help -d 'print the usage and exit'
