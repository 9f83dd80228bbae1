import sys

from smetsbench.cli import main

sys.exit(main())
