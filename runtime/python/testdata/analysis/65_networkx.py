# A small network of customers referring each other: degrees, centrality, shortest paths, components.
import networkx as nx
import pandas as pd

edges = pd.DataFrame({"src": ["C001", "C001", "C002", "C003", "C004", "C005", "C006", "C007", "C007"],
                      "dst": ["C002", "C003", "C004", "C004", "C005", "C006", "C004", "C008", "C009"],
                      "weight": [1.0, 2.5, 1.2, 0.7, 3.1, 1.1, 2.0, 0.5, 0.9]})
G = nx.from_pandas_edgelist(edges, "src", "dst", edge_attr="weight")
print(sorted(G.degree, key=lambda kv: (-kv[1], kv[0]))[:4])
bc = nx.betweenness_centrality(G)
print({k: round(v, 4) for k, v in sorted(bc.items())})
print(nx.shortest_path(G, "C001", "C006", weight="weight"), nx.shortest_path_length(G, "C001", "C006", weight="weight"))
print([sorted(c) for c in sorted(nx.connected_components(G), key=lambda c: sorted(c))])
cc = nx.closeness_centrality(G, distance="weight")
print(sorted(((round(v, 6), k) for k, v in cc.items()), reverse=True)[:3])
print(nx.density(G), nx.average_clustering(G))
print(nx.to_numpy_array(G, nodelist=sorted(G)[:4]))
