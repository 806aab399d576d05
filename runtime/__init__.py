"""dfl.runtime"""
