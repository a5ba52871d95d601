from localdev._cli import main

raise SystemExit(main())
