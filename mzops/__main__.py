from mzops.cli import main

main()
