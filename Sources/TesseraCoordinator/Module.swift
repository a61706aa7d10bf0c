// TesseraCoordinator — see docs/architecture.md.
