#!/usr/bin/env bash
# Builds Warden's default prompt set as 16-bit mono PCM WAV files, synthesized locally:
#
#   OUTDIR/8000/<name>.wav     narrowband (G.711 legs)
#   OUTDIR/16000/<name>.wav    wideband (G.722 / Opus legs)
#
# Names: digit-0 … digit-9, leave-message, invalid-option, goodbye (spoken by espeak-ng) and
# moh (a ~20 s music-on-hold loop of soft chords, synthesized by sox). The repository keeps
# only this script; run it at install time or in tests.
#
# Needs: espeak-ng and sox (Debian packages espeak-ng, sox).
#
#   scripts/make-prompts.sh OUTDIR
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool not found (apt-get install $tool)" >&2; exit 1; }
done

voice=${WARDEN_PROMPT_VOICE:-en-us}
speed=${WARDEN_PROMPT_SPEED:-150}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name|text
prompts=(
  "digit-0|zero" "digit-1|one" "digit-2|two" "digit-3|three" "digit-4|four"
  "digit-5|five" "digit-6|six" "digit-7|seven" "digit-8|eight" "digit-9|nine"
  "leave-message|Please leave a message after the tone."
  "invalid-option|Invalid option."
  "goodbye|Goodbye."
)

for rate in 8000 16000; do
  mkdir -p "$out/$rate"
done

for entry in "${prompts[@]}"; do
  name=${entry%%|*}
  text=${entry#*|}
  espeak-ng -v "$voice" -s "$speed" -w "$tmp/$name.wav" "$text"
  for rate in 8000 16000; do
    # Trim leading/trailing silence, leave 100 ms of padding, normalize to -3 dBFS peak,
    # telephone band for 8 kHz, then resample with sox's high-quality converter.
    band=()
    [ "$rate" = 8000 ] && band=(sinc 200-3400)
    sox "$tmp/$name.wav" -r "$rate" -c 1 -b 16 -e signed-integer "$out/$rate/$name.wav" \
      silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
      "${band[@]}" pad 0.1 0.1 norm -3 rate -v "$rate"
  done
done

# Music on hold: a I-vi-IV-V progression of plucked triads, 2.5 s per chord, played twice,
# with a gentle fade at both ends so the loop point is quiet.
chords=("C3 E3 G3 C4" "A2 C3 E3 A3" "F2 A2 C3 F3" "G2 B2 D3 G3")
i=0
for round in 1 2; do
  for chord in "${chords[@]}"; do
    args=()
    for note in $chord; do
      args+=(pluck "$note")
    done
    # One channel per note, then mixed down to mono.
    sox -n -r 48000 -c "$((${#args[@]} / 2))" -b 16 "$tmp/notes-$i.wav" synth 2.5 "${args[@]}"
    sox "$tmp/notes-$i.wav" -c 1 "$tmp/chord-$i.wav" remix - \
      tremolo 4 20 gain -n -6 fade q 0.05 2.5 0.4
    i=$((i + 1))
  done
done
# (Two passes: `norm` must not share a run with a multi-file fade, which loses audio.)
sox "$tmp"/chord-{0..7}.wav "$tmp/moh-raw.wav" reverb 30 fade t 0.5 20 0.5
sox "$tmp/moh-raw.wav" "$tmp/moh.wav" norm -6
for rate in 8000 16000; do
  sox "$tmp/moh.wav" -r "$rate" -c 1 -b 16 -e signed-integer "$out/$rate/moh.wav" rate -v "$rate"
done

echo "prompts written to $out"
