# smets firmware entry point: runs after boot.py on the board (and on virtual boards).
# Ctrl-C on the link returns to the REPL; `import main` starts the app again.
import sys

if "lib" not in sys.path and "/lib" not in sys.path:
    sys.path.append("lib")

from smets.runtime import app

app.run()
