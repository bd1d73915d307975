"""Clients for the test API server's own tests (fixtures come from k8s_server.fixtures)."""
import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient


@pytest.fixture
def dynamic(k8s_server):
    return DynamicClient(k8s_server.client())


@pytest.fixture
def core(k8s_server_bare):
    return client.CoreV1Api(k8s_server_bare.client())


@pytest.fixture
def custom(k8s_server):
    return client.CustomObjectsApi(k8s_server.client())
