import sys

from ._cli import train_main

sys.exit(train_main())
