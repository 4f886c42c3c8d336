"""How good is a model, honestly: boundary and frame metrics (``metrics``), scoring a model on a
dataset split or a reference corpus (``evaluate``), the plots a person opens (``plots``) and the
original notebook's experiment end to end (``notebook``)."""
