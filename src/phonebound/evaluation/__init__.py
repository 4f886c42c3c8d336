"""How good is a model, honestly: boundary matching and counts (``metrics``), recall by phone-class
transition and place (``breakdowns``), frame metrics (``frames``), decoder thresholds tuned against
references (``thresholds``), scoring a model on a dataset split or a reference corpus (``evaluate``),
the plots a person opens (``plots``) and the original notebook's experiment end to end (``notebook``)."""
