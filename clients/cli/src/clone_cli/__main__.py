from clone_cli.main import main

raise SystemExit(main())
