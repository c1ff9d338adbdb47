from startpunkt.cli import run

run()
