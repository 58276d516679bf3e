"""An example built-in server made only from the README's recipe ("Where to add … a server"): words in a text."""
