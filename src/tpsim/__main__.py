from tpsim.cli import main

raise SystemExit(main())
