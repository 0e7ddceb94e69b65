from custos.cli import main

main()
