from custos.entrypoints.cli.main import main

main()
