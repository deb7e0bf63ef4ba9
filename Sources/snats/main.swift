import ArgumentParser

SnatsCommand.main()
