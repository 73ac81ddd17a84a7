"""The book's ``dataset`` package (``from dataset import ptb``) over ``zeronlp.datasets``."""
