"""Labels: box and location identifiers (labels.identifiers), their RFID EPCs (labels.epc),
and the printed and encoded forms built on them. Imports nothing else of archive-twin."""
