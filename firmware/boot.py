# smets firmware: runs first at every boot. Keep it small; a failure here would hide the REPL.
import gc

gc.collect()
