# fish completion for beep(1), from knockbeep. internal/packagetest
# checks the -s and -l names against beep's usage text.
set -l songs fur-elise imperial-march minuet-in-g ode-to-joy three-voice-round twinkle-twinkle
complete -c beep -f
complete -c beep -s f -x -d 'frequency in Hz'
complete -c beep -s l -x -d 'tone length in ms'
complete -c beep -s r -x -d 'repetitions'
complete -c beep -s d -x -d 'delay between repetitions, not after the last, in ms'
complete -c beep -s D -x -d 'delay between repetitions and after the last, in ms'
complete -c beep -s n -l new -d 'start a new tone'
complete -c beep -s s -d 'beep once per line of stdin'
complete -c beep -s c -d 'beep once per character of stdin'
complete -c beep -s e -l device -r -F -d 'the speaker device'
complete -c beep -l verbose -d 'more messages'
complete -c beep -l debug -d 'more messages'
complete -c beep -s h -l help -d 'print the usage and exit'
complete -c beep -s v -s V -l version -d 'print the version and exit'
complete -c beep -l song -r -F -a "$songs" -d 'play a song'
complete -c beep -l wav -r -F -d 'render to a WAV file or directory'
complete -c beep -l wav-rate -x -d 'the WAV sample rate'
complete -c beep -l print -d 'print the tones as beep arguments'
