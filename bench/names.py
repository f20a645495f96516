"""Build rag/data/first_names.txt: which first names tell "he" from "she".

The speaker stage resolves "she said" to a person of that gender. The text
rarely says a person's gender outright (Mr, Mrs, Baroness), but a first name
usually does: "Betsy Ebeling" is not the "he" of the next sentence.

The source is the name table of `nomquamgender` (Ian Van Buskirk, MIT licence,
https://github.com/ianvanbuskirk/nomquamgender; name counts aggregated from 36
public sources). Each entry holds how many times the name was counted and the
share of those counts that were women, p(gf). A name is written when it is
common (counted at least MIN_COUNT times) and clearly gendered: p(gf) outside
(0.1, 0.9), the package's own default for classifying. Uncommon or mixed
names ("Kim", "Jordan", "Pat", "Bernie" at 0.15) are left out: the speaker
stage then falls back to what the text says.

Measured on PolNeAR's named direct quotations (bench/polnear.py), with the
rules as they stood: train 0.854 -> 0.862, dev 0.889 -> 0.886 with the table;
the same with a cut-off of 100 counts (47,000 names) as with 1,000 (14,000
names); with p(gf) outside (0.05, 0.95) or (0.02, 0.98) instead of the
package's (0.1, 0.9), train 3 and 4 quotations fewer right, dev the same.

Usage:
    pip download nomquamgender==0.1.4 --no-deps -d /tmp/nqg && unzip -o /tmp/nqg/*.whl -d /tmp/nqg
    (the wheel's SHA-256: 55914319e0f40190683a7b93a4af781b38cfe4e56b617f7964956a5bd36396f6)
    .venv/bin/python bench/names.py /tmp/nqg/nomquamgender/name_data.json
"""

import argparse
import json
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "rag" / "data" / "first_names.txt"
MIN_COUNT = 1000
UNSURE = 0.1  # nomquamgender's default threshold: p(gf) in (0.1, 0.9) is not classified


def table(data: dict) -> dict[str, str]:
    names = {}
    for name, (_sources, count, p_female, *_rest) in data.items():
        if count >= MIN_COUNT and name.isalpha() and name.isascii():
            if p_female >= 1 - UNSURE:
                names[name] = "f"
            elif p_female <= UNSURE:
                names[name] = "m"
    return dict(sorted(names.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name_data", type=Path, help="nomquamgender's name_data.json")
    args = parser.parse_args()
    names = table(json.loads(args.name_data.read_text(encoding="utf-8")))
    licence = (args.name_data.parent.parent / "nomquamgender-0.1.4.dist-info" / "LICENSE").read_text(encoding="utf-8")
    header = [
        "# First names and the gender they tell: m or f. Written by bench/names.py from",
        "# nomquamgender 0.1.4's name_data.json (https://github.com/ianvanbuskirk/nomquamgender):",
        f"# names counted at least {MIN_COUNT} times, with p(female) <= {UNSURE} or >= {1 - UNSURE}.",
        "# Its licence:",
        "#",
    ] + [f"# {line}".rstrip() for line in licence.strip().splitlines()]
    OUT.write_text("\n".join(header + [f"{n} {g}" for n, g in names.items()]) + "\n", encoding="utf-8")
    print(f"wrote {len(names)} names to {OUT}")


if __name__ == "__main__":
    main()
