from localdev.cli import main

raise SystemExit(main())
