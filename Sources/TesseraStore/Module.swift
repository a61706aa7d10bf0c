// TesseraStore — see docs/architecture.md.
