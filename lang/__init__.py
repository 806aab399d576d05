"""dfl.lang"""
