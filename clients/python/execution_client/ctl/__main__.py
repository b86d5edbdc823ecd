import sys

from execution_client.ctl.main import main

sys.exit(main())
