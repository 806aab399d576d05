"""dfl.backends.interp"""
