"""ROI per engagement: the arithmetic (``calc``, pure), and the interface to measured infrastructure prices."""
