"""Column names vendors use for each of our fields, in EN, DE, FR, ES, RU and UK.

Earlier names in a list win ties. Names are matched after `header_key` (lower case, accents and
punctuation dropped, camelCase split), so `Prix TTC`, `prix_ttc` and `PrixTTC` are the same.
"""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "sku": (
        "sku", "id", "offer id", "item id", "product id", "article number", "article no",
        "art no", "item code", "product code", "item number", "ref", "reference", "code",
        "vendor code", "part number", "article", "model",
        "artikelnummer", "artikel nr", "artikel", "art nr", "artnr", "bestellnummer",
        "reference produit", "code article", "ref produit", "referencia", "codigo",
        "codigo de articulo", "codigo articulo", "cod", "артикул", "код", "код товара", "арт",
        "код товару", "артикул товару", "index",
    ),
    "name": (
        "name", "product name", "title", "product", "item name", "item", "product title",
        "article name", "bezeichnung", "artikelbezeichnung", "produktname", "artikelname",
        "produkt", "titel", "benennung", "nom", "nom du produit", "designation", "libelle",
        "produit", "titre", "nombre", "nombre del producto", "producto", "titulo", "articulo",
        "наименование", "название", "наименование товара", "товар", "номенклатура", "продукт",
        "найменування", "назва", "назва товару", "найменування товару", "продукт",
    ),
    "brand": (
        "brand", "brand name", "manufacturer", "make", "vendor", "marke", "hersteller",
        "marque", "fabricant", "marca", "fabricante", "бренд", "производитель",
        "торговая марка", "марка", "виробник", "торгова марка",
    ),
    "price": (
        "price", "sale price", "retail price", "unit price", "net price", "selling price",
        "price incl vat", "mrp", "rrp", "list price", "cost", "preis", "vk preis",
        "verkaufspreis", "einzelpreis", "nettopreis", "bruttopreis", "prix", "prix ttc",
        "prix ht", "prix unitaire", "prix de vente", "tarif", "precio", "precio unitario",
        "pvp", "precio de venta", "цена", "розничная цена", "цена розничная", "стоимость",
        "цена продажи", "ціна", "роздрібна ціна", "вартість", "ціна продажу",
    ),
    "currency": (
        "currency", "currency code", "currency id", "cur", "wahrung", "devise", "monnaie",
        "moneda", "divisa", "валюта", "валюта цены",
    ),
    "vendor_category": (
        "category", "product type", "product category", "vendor category", "category path",
        "group", "product group", "section", "department", "kategorie", "warengruppe",
        "produktgruppe", "categorie", "famille", "rayon", "categoria", "familia", "категория",
        "группа", "раздел", "категорія", "група", "розділ",
    ),
    "description": (
        "description", "long description", "details", "product description", "beschreibung",
        "produktbeschreibung", "description produit", "descripcion", "описание", "опис",
    ),
    "image_link": (
        "image link", "image", "image url", "picture", "photo", "image file", "main image",
        "img", "bild", "bild url", "bildlink", "foto", "image produit", "imagen",
        "url imagen", "изображение", "картинка", "фото", "ссылка на фото", "зображення",
    ),
    "gtin": (
        "gtin", "ean", "ean13", "ean 13", "upc", "barcode", "gtin13", "gtin 13", "ean code",
        "strichcode", "ean nummer", "code barre", "code ean", "codigo de barras", "штрихкод",
        "штрих код", "ean код",
    ),
    "pack_size": (
        "pack size", "size", "weight", "net weight", "volume", "content", "package size",
        "packsize", "unit size", "net content", "inhalt", "gewicht", "packungsgrosse",
        "fullmenge", "contenance", "poids", "conditionnement", "contenu", "tamano", "peso",
        "contenido", "volumen", "вес", "объем", "фасовка", "масса", "вага", "об єм", "обсяг",
        "фасування",
    ),
    "unit": (
        "unit", "uom", "unit of measure", "measure", "einheit", "mengeneinheit", "unite",
        "unidad", "unidad de medida", "единица измерения", "ед изм", "единица",
        "одиниця виміру", "од вим", "одиниця",
    ),
}
