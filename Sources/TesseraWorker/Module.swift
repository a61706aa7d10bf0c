// TesseraWorker — see docs/architecture.md.
