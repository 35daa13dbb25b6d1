# fish completion for knock(1), from knockbeep. internal/packagetest
# checks the -s and -l names against knock's option table.
set -l songs fur-elise imperial-march minuet-in-g ode-to-joy three-voice-round twinkle-twinkle
complete -c knock -f -a '(__fish_print_hostnames)'
complete -c knock -s u -l udp -d 'knock with UDP where a port has no :proto suffix'
complete -c knock -s d -l delay -x -d 'wait between knocks (ms or a duration)'
complete -c knock -s 4 -l ipv4 -d 'use IPv4 only'
complete -c knock -s 6 -l ipv6 -d 'use IPv6 only'
complete -c knock -s v -l verbose -d 'print each knock as it goes'
complete -c knock -s h -l help -d 'print the usage and exit'
complete -c knock -s V -l version -d 'print the version and exit'
complete -c knock -l song -r -F -a "$songs" -d 'knock a song into knockbeepd (with --orchestra, one per voice)'
complete -c knock -l dry-run -d 'print the plan and send nothing'
complete -c knock -l secret-file -r -F -d "a rotating door's key"
complete -c knock -l door -x -d "the rotating door's name"
complete -c knock -l time-offset -x -d 'add this to the clock'
complete -c knock -l message -x -d 'send this text to a message door'
complete -c knock -l parity -x -d 'knocks that recover lost ones'
complete -c knock -l wait -d "wait for the door's answer"
complete -c knock -l wait-timeout -x -d 'how long --wait waits'
complete -c knock -l bind-source -d 'derive for the address this computer knocks from'
complete -c knock -l source-address -x -d 'derive for this address (behind NAT)'
complete -c knock -l period -x -d "the door's period"
complete -c knock -l length -x -d 'knocks in its sequence'
complete -c knock -l port-range -x -d 'where its knocks fall'
complete -c knock -l protocols -x -a 'tcp udp tcp,udp' -d 'tcp, udp or tcp,udp'
complete -c knock -l no-pitch -d 'no pitch knocks'
complete -c knock -l notes -d 'one knock per note'
complete -c knock -l orchestra -d 'one host per voice or per --song, played together'
complete -c knock -l ensemble-port -x -d 'the daemons ensemble port'
complete -c knock -l note-base -x -d 'first note port'
complete -c knock -l note-unit -x -d 'time unit of notes'
complete -c knock -l ports -x -d 'the tone, silence and play ports'
complete -c knock -l pitch-base -x -d 'the port of MIDI note 0'
complete -c knock -l step -x -d 'the length of one step'
