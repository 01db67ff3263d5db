"""Common printer build volumes, without the mesh stack, so query validation can list them cheaply."""

from __future__ import annotations

# Common printer build volumes (x, y, z in mm). Documented in docs/findings.md.
PRINTER_BEDS = {
    "Prusa MK4 (250×210×220)": (250.0, 210.0, 220.0),
    "Bambu Lab X1/P1 (256×256×256)": (256.0, 256.0, 256.0),
    "Creality Ender-3 (220×220×250)": (220.0, 220.0, 250.0),
    "Prusa MINI (180×180×180)": (180.0, 180.0, 180.0),
    "Elegoo Mars 4 resin (153×77×175)": (153.0, 77.0, 175.0),
}
