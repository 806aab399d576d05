"""dfl.backends"""
