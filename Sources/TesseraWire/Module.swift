// TesseraWire — see docs/architecture.md.
