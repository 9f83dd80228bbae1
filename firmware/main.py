# smets firmware entry point: runs after boot.py on the board (and on virtual boards).
# Ctrl-C on the link returns to the REPL; `import main` starts the app again.
import sys

if "lib" not in sys.path and "/lib" not in sys.path:
    sys.path.append("lib")

from smets.runtime import app

if getattr(app, "ran", False):
    # `import main` at the REPL after a Ctrl-C: boot again (soft reset; a virtual board's
    # process ends and its supervisor starts it again), so that the app gets the whole heap
    # and runs the code now on flash.
    app.reboot(soft=True)
app.ran = True
app.run()
