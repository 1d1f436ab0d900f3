import sys

from gabagool.cli import main

sys.exit(main())
