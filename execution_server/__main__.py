import sys

from execution_server.cli import main

sys.exit(main())
