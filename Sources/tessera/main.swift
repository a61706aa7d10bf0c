import TesseraCLI
TesseraCommand.main()
