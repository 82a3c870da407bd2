import sys

from stacklet.cli import main

sys.exit(main())
