// TesseraZMQ — see docs/architecture.md.
